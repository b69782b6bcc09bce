"""Who may see the console: nothing without a login, every form with its CSRF token."""

from __future__ import annotations

import pytest
from console_support import OPERATOR, Console, csrf_of

from console.auth import authenticate, hash_password

PAGES = ["/"]


@pytest.mark.parametrize("path", PAGES)
def test_no_page_answers_without_a_login(console: Console, path: str) -> None:
    with console.client() as c:
        r = c.get(path)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")


def test_a_login_leads_back_to_the_page_asked_for(console: Console) -> None:
    with console.client() as c:
        first = c.get("/?seller=acme")
        form = c.get(first.headers["location"])
        r = c.post(
            "/login",
            data={
                "username": OPERATOR[0],
                "password": OPERATOR[1],
                "next": "/?seller=acme",
                "csrf_token": csrf_of(form.text),
            },
        )
    assert (r.status_code, r.headers["location"]) == (303, "/?seller=acme")


def test_a_wrong_password_is_refused(console: Console) -> None:
    with console.client() as c:
        form = c.get("/login")
        r = c.post(
            "/login",
            data={"username": OPERATOR[0], "password": "nope", "csrf_token": csrf_of(form.text)},
        )
        assert r.status_code == 401
        assert c.get("/").status_code == 303


def test_login_never_redirects_to_another_site(console: Console) -> None:
    with console.client() as c:
        form = c.get("/login")
        r = c.post(
            "/login",
            data={
                "username": OPERATOR[0],
                "password": OPERATOR[1],
                "next": "//evil.example/",
                "csrf_token": csrf_of(form.text),
            },
        )
    assert r.headers["location"] == "/"


def test_a_post_without_the_csrf_token_is_refused(console: Console) -> None:
    with console.client() as c:
        c.get("/login")
        r = c.post("/login", data={"username": OPERATOR[0], "password": OPERATOR[1]})
        assert r.status_code == 403
        assert c.get("/").status_code == 303  # not logged in


def test_a_post_with_another_sessions_token_is_refused(console: Console) -> None:
    with console.client() as other:
        token = csrf_of(other.get("/login").text)
    with console.client() as c:
        c.get("/login")
        r = c.post(
            "/login",
            data={"username": OPERATOR[0], "password": OPERATOR[1], "csrf_token": token},
        )
    assert r.status_code == 403


def test_logout_ends_the_session(console: Console) -> None:
    with console.login() as c:
        page = c.get("/")
        assert page.status_code == 200
        c.post("/logout", data={"csrf_token": csrf_of(page.text)})
        assert c.get("/").status_code == 303


def test_a_forged_session_cookie_is_not_a_login(console: Console) -> None:
    with console.client() as c:
        c.cookies.set("shipfeed_console", "eyJ1c2VyIjogIm9sZ2EifQ==.forged.sig")
        assert c.get("/").status_code == 303


def test_a_hash_made_by_hash_password_logs_in() -> None:
    from config.settings import Secrets

    secrets = Secrets(console={"accounts": {"ann": {"password_hash": hash_password("s3cret")}}})
    who = authenticate(secrets, "ann", "s3cret")
    assert who is not None and who.is_operator
    assert authenticate(secrets, "ann", "wrong") is None
    assert authenticate(secrets, "bob", "s3cret") is None
