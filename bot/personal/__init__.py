"""One person's own layer: their records (follows, saved papers, settings), follows checked
against the archive, `forget me`, and the answers to their own commands.

Every function takes the person's user id and touches only their rows.
"""
