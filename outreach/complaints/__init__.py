"""Complaints (réclamations): their import, and the contract between them and the complaint journey."""
