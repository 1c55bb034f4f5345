"""The weekly cycle: when a week is due (`schedule`), its recap's numbers (`recap`) and the
topics' trends (`trends`); the weekly job and DMs join them here later.
"""
