"""Model runtimes: one small interface, one implementation per backend."""
