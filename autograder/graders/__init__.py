"""The hidden graders: one pytest file per assignment, run in the trusted parent only."""
