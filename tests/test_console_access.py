"""Who may see the console: nothing without a login, every form with its CSRF token."""

from __future__ import annotations

import pytest
from console_data import A1, G1, GLOBEX_REFUSED, make_story, make_uploads
from console_support import LWA_SECRET, OPERATOR, SELLER, SESSION_KEY, Console, csrf_of

from console.auth import authenticate, hash_password

PAGES = ["/", "/queue", "/files", "/feeds", "/sellers", "/orders/111-0000001-0000001",
         "/files/1/reports/intake.csv", "/uploads/1/reports/intake.csv"]  # fmt: skip


@pytest.mark.parametrize("path", PAGES)
def test_no_page_answers_without_a_login(console: Console, path: str) -> None:
    with console.client() as c:
        r = c.get(path)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")


def test_a_login_leads_back_to_the_page_asked_for(console: Console) -> None:
    with console.client() as c:
        first = c.get("/queue?status=error")
        form = c.get(first.headers["location"])
        r = c.post(
            "/login",
            data={
                "username": OPERATOR[0],
                "password": OPERATOR[1],
                "next": "/queue?status=error",
                "csrf_token": csrf_of(form.text),
            },
        )
    assert (r.status_code, r.headers["location"]) == (303, "/queue?status=error")


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


def test_a_seller_account_gets_404_for_another_sellers_order(console: Console) -> None:
    make_story(console.ledger, console.settings)
    with console.login(SELLER) as c:
        assert c.get(f"/orders/{A1}").status_code == 200
        assert c.get(f"/orders/{G1}").status_code == 404


def test_a_seller_account_gets_404_for_another_sellers_file_report(console: Console) -> None:
    story = make_story(console.ledger, console.settings)
    with console.login(SELLER) as c:
        assert c.get(f"/files/{story.acme_file}/reports/result.csv").status_code == 200
        assert c.get(f"/files/{story.globex_file}/reports/intake.csv").status_code == 404


def test_a_seller_account_sees_only_its_own_duplicate_and_refused_uploads(
    console: Console,
) -> None:
    story = make_story(console.ledger, console.settings)
    up = make_uploads(console.ledger, console.settings, story)
    with console.login(SELLER) as c:
        page = c.get("/files", params={"seller": "globex"}).text
        own = c.get(f"/uploads/{up.acme_copy}/reports/intake.csv")
        other = c.get(f"/uploads/{up.globex_refused}/reports/intake.csv")
        missing = c.get("/uploads/999999/reports/intake.csv")
    assert f'id="upload-{up.acme_copy}"' in page
    assert GLOBEX_REFUSED not in page and f"upload-{up.globex_refused}" not in page
    assert own.status_code == 200
    assert other.status_code == missing.status_code == 404


def test_a_seller_account_sees_only_its_own_lines_and_files(console: Console) -> None:
    make_story(console.ledger, console.settings)
    with console.login(SELLER) as c:
        pages = [c.get(p, params={"seller": "globex"}).text for p in ("/", "/queue", "/files")]
        pages.append(c.get("/queue", params={"q": G1}).text)
        pages.append(c.get("/sellers").text)
        pages.append(c.get("/feeds").text)
    for page in pages:
        assert f"/orders/{G1}" not in page
        assert "globex-1.csv" not in page and "globex secret" not in page


def test_a_seller_account_cannot_send_a_correction(console: Console) -> None:
    story = make_story(console.ledger, console.settings)
    with console.login(SELLER) as c:
        token = csrf_of(c.get("/queue").text)
        r = c.post(
            "/queue/action",
            data={"action": "correct", "line": [story.a1], "confirmed": "yes", "csrf_token": token},
        )
    assert r.status_code == 403
    assert console.ledger.lines([story.a1])[0].status == "confirmed"


def test_a_seller_accounts_action_on_another_sellers_line_is_404(console: Console) -> None:
    story = make_story(console.ledger, console.settings)
    with console.login(SELLER) as c:
        token = csrf_of(c.get("/queue").text)
        forms = [
            {"action": a, "csrf_token": token, "confirmed": "yes", **sel}
            for a in ("resend", "escalate", "cancel")
            for sel in ({"line": [story.g1]}, {"line": [story.a2, story.g1]}, {"order": G1})
        ]
        answers = [c.post("/queue/action", data=form) for form in forms]
    assert {r.status_code for r in answers} == {404}
    assert [ln.status for ln in console.ledger.lines([story.a2, story.g1])] == ["error", "error"]


def test_an_action_post_without_the_csrf_token_changes_nothing(console: Console) -> None:
    story = make_story(console.ledger, console.settings)
    with console.login() as c:
        r = c.post(
            "/queue/action", data={"action": "resend", "line": [story.a2], "confirmed": "yes"}
        )
    assert r.status_code == 403
    assert console.ledger.lines([story.a2])[0].status == "error"


def test_no_secret_ever_appears_in_a_page(console: Console) -> None:
    story = make_story(console.ledger, console.settings)
    hashes = [a.password_hash.get_secret_value() for a in console.secrets.console.accounts.values()]
    secrets = [LWA_SECRET, SESSION_KEY, OPERATOR[1], SELLER[1], "lwa-refresh-token", *hashes]
    paths = ["/", "/queue", "/files", "/feeds", "/sellers", f"/orders/{A1}", "/login"]
    paths.append(f"/files/{story.acme_file}/reports/result.csv")
    with console.login() as c:
        bodies = [c.get(p).text for p in paths]
    bodies += [console.client().get("/login").text]
    for body in bodies:
        for secret in secrets:
            assert secret not in body
