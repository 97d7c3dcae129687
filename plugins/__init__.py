"""Built-in plugins. Each is an ordinary plugin the core loads by name and a user can block."""
