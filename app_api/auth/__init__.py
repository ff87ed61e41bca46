"""Sign-in for drivers (phone + one-time code) and operators (password), and tokens."""
