"""The feast layer: the training data goes through a Feast feature store (point-in-time-correct
historical features for training, an online store for `/predict {"entity_ids": [...]}`), and a
deploy is refused unless the version's FeatureService still matches the feature view."""
