"""Foundations every feature stands on: settings, the database, the base model, domain errors."""
