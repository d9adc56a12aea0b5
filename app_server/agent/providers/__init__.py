"""Model providers: how a sampling request reaches a model and how its stream comes back."""
