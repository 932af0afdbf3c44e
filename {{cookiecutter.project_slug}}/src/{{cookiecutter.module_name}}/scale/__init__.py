"""Scale: the cloud profile (steps in pods) and the local stack that tries it on one machine."""
