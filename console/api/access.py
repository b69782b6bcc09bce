"""Who is calling the API: a bearer token that acts for one seller, or nobody."""

from __future__ import annotations

from fastapi import Depends, Request

from config.settings import SellerSettings
from console.api.errors import ApiError
from console.api.tokens import seller_of
from console.state import ConsoleState, state


def caller(request: Request, st: ConsoleState = Depends(state)) -> SellerSettings:
    """The seller the token acts for; 401 for no token or an unknown one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <token>", "Authorization")
    name = seller_of(st.secrets.api, token.strip())
    seller = next((s for s in st.settings.sellers if s.name == name), None)
    if seller is None:  # unknown token, or one for a seller no longer configured
        raise ApiError(401, "unauthorized", "the token is not valid", "Authorization")
    return seller
