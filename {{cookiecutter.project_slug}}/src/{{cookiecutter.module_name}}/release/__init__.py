"""Release: the one owner of the model artifact, its packaging, registry aliases, champion and serving."""
