"""PushT (``gym_pusht``): env presets and base-policy kinds, scripted expert, block-pose step, statistics."""
