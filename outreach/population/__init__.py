"""The insured population: the fund's extract format, its validation, import and synthetic generation."""
