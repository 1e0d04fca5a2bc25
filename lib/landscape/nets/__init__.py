"""Networks and their training: datasets, model builders, optimizers, recorded SGD trajectories."""
