"""A frozen base policy on a server, many env workers as its clients (Ray Serve; extra ``[serve]``).

* :mod:`latent_mdp.serve.server`: the Ray Serve deployment and ``latent-mdp serve`` (needs Ray);
* :class:`RemoteNoisePolicy`: the client, a :class:`~latent_mdp.NoisePolicy` (needs no Ray);
* :mod:`latent_mdp.serve.errors`: what can go wrong, as exceptions.
"""

from latent_mdp.serve.client import RemoteContext, RemoteNoisePolicy
from latent_mdp.serve.errors import ContextExpiredError, PolicyServerError, PolicyServerTimeout, PolicyServerUnavailable

__all__ = ["ContextExpiredError", "PolicyServerError", "PolicyServerTimeout", "PolicyServerUnavailable", "RemoteContext", "RemoteNoisePolicy"]
