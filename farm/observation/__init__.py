"""observation package."""
