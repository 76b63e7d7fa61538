"""Saving results into the user's project: where (`places`), how safely (`writer`), from what (`sources`), and
saves that wait for a running job (`pending`, `saves`).

Import from the modules: the store opens the pending saves long before anything is saved, so this package does not
load the rest with them.
"""
