"""Tasks: the env presets, scripted experts and data statistics of each suite (PushT, MetaWorld)."""
