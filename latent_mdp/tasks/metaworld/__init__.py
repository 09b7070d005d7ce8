"""MetaWorld v3 manipulation tasks on the state observation: the env, its scripted experts, the DSRL presets."""
