"""Builders of the shipped assets: the PushT demonstrations, the BC base checkpoints and their model cards.

They sit on top of every other layer (they train and evaluate), and nothing else imports them.
Run them as modules, e.g. ``python -m latent_mdp.builders.pusht_checkpoints --only flow``.
"""
