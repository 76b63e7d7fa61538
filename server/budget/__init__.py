"""Spend control: the budget day and caps (`policy`), the spend counted against them (`ledger`), and the guard that
applies them to each spending call (`guard`)."""

from server.budget.guard import Reservation, SpendGuard, counted
from server.budget.ledger import Blocked, Charge, SpendLedger, SqliteSpendLedger
from server.budget.policy import BudgetDay, BudgetPolicy, Cap

__all__ = [
    "Blocked",
    "BudgetDay",
    "BudgetPolicy",
    "Cap",
    "Charge",
    "Reservation",
    "SpendGuard",
    "SpendLedger",
    "SqliteSpendLedger",
    "counted",
]
