"""Partner exports: lists of people for partners, limited to what each partner's profile allows.

`profile` reads and checks the partner files, `columns` is the closed list of what may ever leave,
`query` selects the people in SQL, `writer` streams the file, `export` ties them together with the
manifest and the audit entry.
"""
