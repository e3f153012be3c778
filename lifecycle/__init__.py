"""The domain every part of golive speaks: entities, state machines, money, ids, events.

Nothing here imports from the rest of golive (see ARCHITECTURE.md).
"""
