"""Connecting to a dask-gateway (an analysis facility, or workflows/scripts/start_gateway.sh on this machine).

``connect(GatewayOptions)`` resolves the address (option, else ``$B2DARK_GATEWAY_ADDRESS``, else the
dask-gateway config ``gateway.address``) and the authentication (basic with the password from an
environment variable, JupyterHub token, Kerberos ticket, or the dask-gateway config), and checks that the
gateway answers, so a wrong address or password fails here with a message that says which.
"""

from __future__ import annotations

import os
from typing import Any

from workflows.runoptions import GatewayOptions

ADDRESS_ENV = "B2DARK_GATEWAY_ADDRESS"


class GatewayError(RuntimeError):
    """The gateway could not be reached or refused us."""


def resolve_address(g: GatewayOptions) -> str | None:
    """The gateway URL to use, or None to leave it to the dask-gateway config."""
    return g.address or os.environ.get(ADDRESS_ENV) or None


def make_auth(g: GatewayOptions) -> Any:
    """The dask-gateway auth object for ``g.auth`` (None: the dask-gateway config decides)."""
    from dask_gateway.auth import BasicAuth, JupyterHubAuth, KerberosAuth

    if g.auth is None:
        return None
    if g.auth == "basic":
        password = os.environ.get(g.password_env)
        if password is None:
            raise GatewayError(
                f"gateway.auth is 'basic' but ${g.password_env} is not set: export the gateway password in it "
                "(start_gateway.sh writes it to DIR/gateway.env), or name another variable in gateway.password_env"
            )
        return BasicAuth(username=g.username, password=password)
    if g.auth == "jupyterhub":
        if not os.environ.get("JUPYTERHUB_API_TOKEN"):
            raise GatewayError(
                "gateway.auth is 'jupyterhub' but JUPYTERHUB_API_TOKEN is not set: run inside the facility's "
                "JupyterHub (it sets the token) or export a token from its hub control panel"
            )
        return JupyterHubAuth()
    return KerberosAuth()


def connect(g: GatewayOptions) -> Any:
    """A ``dask_gateway.Gateway`` that has answered one authenticated request."""
    try:
        from dask_gateway import Gateway
    except ImportError:
        raise GatewayError(
            "dask@gateway needs the optional dependency dask-gateway: pip install 'b2dark[gateway]' "
            "(or pip install dask-gateway), matching the version of your facility's gateway server"
        ) from None
    address = resolve_address(g)
    try:
        gateway = Gateway(address=address, proxy_address=g.proxy_address, auth=make_auth(g))
    except ValueError as err:  # no address anywhere
        raise GatewayError(
            f"no dask-gateway address: set gateway.address in the run options, ${ADDRESS_ENV}, or the dask "
            f"config gateway.address ({err})"
        ) from None
    try:
        gateway.list_clusters()
    except Exception as err:
        close(gateway)
        status = getattr(err, "status", None)
        hint = (
            "the gateway refused the credentials: check gateway.auth, gateway.username and the password in "
            f"${g.password_env}"
            if status in (401, 403)
            else "is the gateway running and the address right (workflows/scripts/start_gateway.sh for a local one)?"
        )
        raise GatewayError(f"dask-gateway at {gateway.address}: {type(err).__name__}: {err}; {hint}") from None
    return gateway


def _disarm(gateway: Any) -> None:
    # dask-gateway 2026.3's Gateway.__del__ closes the client again, and with distributed 2025 a second close
    # raises "Accessing the loop property while the loop is not running" at garbage collection; without its
    # loop runner __del__ does nothing.
    if hasattr(gateway, "_loop_runner"):
        del gateway._loop_runner


def close(gateway: Any) -> None:
    """Close a Gateway client (once)."""
    gateway.close()
    _disarm(gateway)


def shutdown(cluster: Any) -> None:
    """Stop a GatewayCluster's scheduler and workers and close its own Gateway client (once)."""
    cluster.shutdown()
    _disarm(cluster.gateway)
