"""What differs per task lives in one module here (encoder + network); everything else is shared."""
