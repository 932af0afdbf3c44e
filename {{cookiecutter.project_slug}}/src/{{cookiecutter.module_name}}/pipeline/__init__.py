"""Pipeline: the training stages, data to trained weights (read, validate, split, encode per task, train, evaluate)."""
