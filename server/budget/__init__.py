"""Spend control: the budget day and caps (`policy`), the spend counted against them (`ledger`), and the guard that
applies them to each spending call (`guard`).

Import from the modules: the store opens the ledger before anything spends, so this package does not load the guard
with it.
"""
