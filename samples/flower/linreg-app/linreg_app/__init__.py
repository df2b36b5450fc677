"""linreg-app: a Message-API Flower app (Flower 1.19 and later)."""
