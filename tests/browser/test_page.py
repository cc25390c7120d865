"""The page (infrastructure/web/) in headless Chromium against the fake API: login, the statement with its
explanations, redeem with an idempotency key, thanks, the manager's decisions, the kiosk's PIN login and idle logout,
languages, and a 401 going back to the login screen."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.browser.conftest import wait_for
from tests.browser.fake_api import PASSWORD, FakeApi

pytestmark = pytest.mark.browser


def by_id(driver: Any, element_id: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, selector))


def text_of(driver: Any, selector: str) -> str:
    found = css(driver, selector)
    return ' '.join(str(e.text) for e in found)


def sign_in(driver: Any, fake: FakeApi, user: str, query: str = '', password: str = PASSWORD) -> None:
    driver.get(f'{fake.url}/{query}')
    wait_for(driver, lambda d: by_id(d, 'login').is_displayed(), 'the login form never showed')
    by_id(driver, 'username').send_keys(user)
    by_id(driver, 'password').send_keys(password)
    css(driver, '#login-form button[type=submit]')[0].click()


def signed_in_advisor(driver: Any, fake: FakeApi) -> None:
    sign_in(driver, fake, 'advisor')
    wait_for(driver, lambda d: css(d, '#statement-lines li.line'), 'the statement never loaded')


def test_login_shows_the_advisors_balance_rank_and_charts_and_sends_the_id_token(phone: Any, fake_api: FakeApi) -> None:
    # Given the page on a phone, when an advisor signs in with user name and password
    sign_in(phone, fake_api, 'advisor')

    # Then the balance, the rank with the gap to the next and the rank movement line are shown
    wait_for(phone, lambda d: by_id(d, 'available').text == '1,250', 'the balance never showed')
    wait_for(phone, lambda d: '25 points behind #2' in by_id(d, 'gap').text)
    assert '#3 of 12' in text_of(phone, '#rank')
    assert css(phone, '#rank svg.chart polyline.line'), 'no rank movement chart'
    assert 'Chandra Advisor' in by_id(phone, 'who').text
    # And every API call carried the ID token Cognito returned, as a bearer token
    me = fake_api.calls('GET', '/v1/me')
    assert me and me[0].headers['authorization'].startswith('Bearer ')
    token = me[0].headers['authorization'].removeprefix('Bearer ')
    assert fake_api.tokens.get(token) == 'advisor'
    assert phone.execute_script('return sessionStorage.getItem("pitcrew.id")') == token
    # And the division's board shows the advisor's own line highlighted
    wait_for(phone, lambda d: 'Chandra Advisor' in text_of(d, '#rank ol li.me'))
    # And the page fits the phone's width (nothing scrolls sideways), down to 360 px
    wait_for(phone, lambda d: css(d, '#catalogue button[data-item]') and css(d, '#feed li'))
    assert phone.execute_script('return document.documentElement.scrollWidth <= document.documentElement.clientWidth')
    phone.set_window_size(360, 780)
    assert phone.execute_script('return document.documentElement.scrollWidth <= document.documentElement.clientWidth')

    # When the feed is switched from the team to the location, Then the feed is asked for the location's
    by_id(phone, 'feed-scope').find_element('css selector', 'option[value=location]').click()
    wait_for(phone, lambda d: [c.query.get('scope') for c in fake_api.calls('GET', '/v1/feed')] == ['team', 'location'])


def test_a_wrong_password_is_refused_with_cognitos_message(phone: Any, fake_api: FakeApi) -> None:
    # When someone signs in with a wrong password
    sign_in(phone, fake_api, 'advisor', password='nope')

    # Then the login form says why, and nothing of the API was called
    wait_for(phone, lambda d: 'Incorrect username or password' in by_id(d, 'login-msg').text)
    assert by_id(phone, 'login').is_displayed()
    assert fake_api.requests == []


def test_statement_lines_are_explained_and_more_load_by_cursor(phone: Any, fake_api: FakeApi) -> None:
    # Given a signed-in advisor
    signed_in_advisor(phone, fake_api)

    # Then each line of the month shows its explanation, program, rule, ticket and basis, and inputs
    first = css(phone, '#statement-lines li.line')[0]
    assert '+20 for "5-star CSAT" on zendesk:1001 (survey R1)' in first.text
    for fact in ('pitstop@3', 'csat@2', 'zendesk:1001 · survey R1', 'rating = 5', 'channel = chat'):
        assert fact in first.text, fact
    assert 'reopened within 7 days' in css(phone, '#statement-lines li.line')[1].text
    # And the points by rule are drawn as bars (a negative one among them)
    assert len(css(phone, '#statement svg rect.bar')) == 3
    assert len(css(phone, '#statement svg rect.bar.neg')) == 1
    assert 'Closing balance' in text_of(phone, '#statement dl.totals') and '1,245' in text_of(phone, '#statement dl.totals')

    # When the advisor loads more
    more = [b for b in css(phone, '#statement button.more') if b.is_displayed()]
    more[0].click()

    # Then the next page comes from the cursor the first answered, and is appended
    wait_for(phone, lambda d: len(css(d, '#statement-lines li.line')) == 3)
    assert '+35 for "Upsell"' in css(phone, '#statement-lines li.line')[2].text
    pages = fake_api.calls('GET', '/v1/me/statement')
    assert [p.query.get('cursor') for p in pages] == [None, 'p2']
    assert pages[0].query['program_id'] == 'pitstop' and len(pages[0].query['month']) == 7
    assert not [b for b in css(phone, '#statement button.more') if b.is_displayed()], 'load more stays after the last page'


def test_an_entry_is_disputed_with_a_reason_and_an_idempotency_key(phone: Any, fake_api: FakeApi) -> None:
    # Given a signed-in advisor reading the statement
    signed_in_advisor(phone, fake_api)
    line = css(phone, '#statement-lines li.line')[1]

    # When they open "Dispute this entry" on the reversed line, write why, and send
    line.find_element('css selector', 'button[aria-controls="dispute-EN2"]').click()
    by_id(phone, 'dispute-EN2-reason').send_keys('The customer reopened it by mistake')
    css(phone, '#dispute-EN2 button[type=submit]')[0].click()

    # Then the dispute is filed for that entry, once, with an Idempotency-Key, and the page says what happens next
    wait_for(phone, lambda d: 'Dispute filed.' in text_of(d, '#dispute-EN2 .ok'))
    filed = fake_api.calls('POST', '/v1/disputes')
    assert len(filed) == 1 and filed[0].headers['idempotency-key']
    assert fake_api.disputes == [{'entry_id': 'EN2', 'reason': 'The customer reopened it by mistake'}]


def test_every_field_has_a_label_on_every_screen(desktop: Any, fake_api: FakeApi) -> None:
    unlabelled = """return [...document.querySelectorAll('input, select, textarea')]
        .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
        .map(e => e.id || e.name || e.outerHTML)"""
    # Given the login screen, the advisor's view and the manager's view
    desktop.get(f'{fake_api.url}/')
    wait_for(desktop, lambda d: by_id(d, 'login').is_displayed())
    # Then every field has a label (or an aria-label), and the page says its language
    assert desktop.execute_script(unlabelled) == []
    assert desktop.execute_script('return document.documentElement.lang') == 'en'
    signed_in_advisor(desktop, fake_api)
    wait_for(desktop, lambda d: css(d, '#catalogue button[data-item]'))
    assert desktop.execute_script(unlabelled) == []
    css(desktop, '#logout')[0].click()
    sign_in(desktop, fake_api, 'manager')
    wait_for(desktop, lambda d: css(d, '#dispute-D1-reason') and css(d, '#award-SA1-reason'))
    assert desktop.execute_script(unlabelled) == []


def test_redeem_sends_an_idempotency_key_and_a_retry_of_the_same_click_reuses_it(phone: Any, fake_api: FakeApi) -> None:
    # Given a signed-in advisor, and an API whose first answer to a redemption is lost (503)
    signed_in_advisor(phone, fake_api)
    fake_api.fail('POST /v1/redemptions', 503)
    button = wait_for(phone, lambda d: css(d, '#catalogue button[data-item="amazon-500"]'))[0]

    # When the advisor redeems, sees the error, and tries again
    button.click()
    wait_for(phone, lambda d: 'service unavailable' in text_of(d, '#catalogue .item .error'))
    button.click()

    # Then the redemption is confirmed, and both attempts carried the same Idempotency-Key: one redemption was made
    wait_for(phone, lambda d: 'Redeemed. Status: completed' in text_of(d, '#catalogue .item .ok'))
    attempts = fake_api.calls('POST', '/v1/redemptions')
    keys = [a.headers.get('idempotency-key') for a in attempts]
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1]
    assert 8 <= len(keys[0]) <= 128
    assert attempts[0].body == {'program_id': 'pitstop', 'item_id': 'amazon-500', 'quantity': 1}
    assert len(fake_api.redemptions) == 1

    # When the advisor redeems the same item again (a new click after a confirmed one)
    button.click()
    wait_for(phone, lambda d: len(fake_api.calls('POST', '/v1/redemptions')) == 3)
    wait_for(phone, lambda d: len(fake_api.redemptions) == 2)
    # Then that is a new redemption, with a new key
    assert fake_api.calls('POST', '/v1/redemptions')[2].headers['idempotency-key'] != keys[0]


def test_thanks_shows_the_apis_error_and_field_and_429_says_when_to_retry(phone: Any, fake_api: FakeApi) -> None:
    # Given a signed-in advisor filling in the thanks form with too many points
    signed_in_advisor(phone, fake_api)
    by_id(phone, 'thanks-to').send_keys('E4')
    by_id(phone, 'thanks-points').send_keys('500')
    by_id(phone, 'thanks-message').send_keys('Great teamwork on the brake job')
    submit = css(phone, '#thanks-form button[type=submit]')[0]

    # When it is sent, Then the API's error and the field it names are shown
    submit.click()
    wait_for(phone, lambda d: 'points must be at most 50 (field: points)' in text_of(d, '#thanks-form .error'))

    # When the points are corrected and the API is throttling, Then the page says when to try again
    fake_api.fail('POST /v1/recognitions', 429)
    points = by_id(phone, 'thanks-points')
    points.clear()
    points.send_keys('20')
    submit.click()
    wait_for(phone, lambda d: 'Too many requests. Try again in 7 s.' in text_of(d, '#thanks-form .error'))

    # When it is sent again, Then it goes through with the same key as the throttled attempt, once
    submit.click()
    wait_for(phone, lambda d: 'Thanks sent.' in text_of(d, '#thanks-form .ok'))
    sent = fake_api.calls('POST', '/v1/recognitions')
    assert len(sent) == 3 and sent[1].headers['idempotency-key'] == sent[2].headers['idempotency-key'] != sent[0].headers['idempotency-key']
    assert fake_api.recognitions == [
        {'program_id': 'pitstop', 'to_employee_id': 'E4', 'points': 20, 'message': 'Great teamwork on the brake job'}
    ]


def test_manager_sees_kpis_against_targets_and_decides_with_idempotency_keys(desktop: Any, fake_api: FakeApi) -> None:
    # When a manager signs in on a laptop
    sign_in(desktop, fake_api, 'manager')

    # Then the team's KPIs are drawn against their targets, with service levels, standings and flags
    # (the 6-month trend of the KPIs the API trends: three charts, the two with a target with its dashed line)
    wait_for(desktop, lambda d: len(css(d, '#kpis svg line.target')) == 2, 'no KPI charts with a target line')
    assert len(css(desktop, '#kpis svg.chart polyline.line')) == 3
    kpis = text_of(desktop, '#kpis')
    assert 'CSAT (average score)' in kpis and 'Target 4.8' in kpis and 'Target 60 min' in kpis
    wait_for(desktop, lambda d: 'chat' in text_of(d, '#levels') and 'above average' in text_of(d, '#levels'))
    # (the manager is in no program: the program comes from the 400 listing them, the one whose league takes role|region)
    wait_for(desktop, lambda d: 'Chandra Advisor' in text_of(d, '#standings ol li'))
    standings = [c.query for c in fake_api.calls('GET', '/v1/team/standings')]
    assert standings[-1] == {'program_id': 'pitstop', 'division': 'service_advisor|IN-South', 'month': standings[-1]['month']}
    wait_for(desktop, lambda d: 'Reciprocal thanks' in text_of(d, '#flags') and 'Dev Technician' in text_of(d, '#flags'))
    assert {c.query.get('program_id') for c in fake_api.calls('GET', '/v1/team/flags')} == {'pitstop'}
    assert not css(desktop, '#app .error'), text_of(desktop, '#app .error')

    # When the manager accepts the dispute with a reason and approves the spot award
    wait_for(desktop, lambda d: css(d, '#dispute-D1 button[data-choice=accept]'))
    by_id(desktop, 'dispute-D1-reason').send_keys('Survey belongs to this ticket')
    css(desktop, '#dispute-D1 button[data-choice=accept]')[0].click()
    wait_for(desktop, lambda d: 'Decision recorded.' in text_of(d, '#dispute-D1 .ok'))
    wait_for(desktop, lambda d: css(d, '#award-SA1 button[data-choice=approve]'))[0].click()
    wait_for(desktop, lambda d: 'Decision recorded.' in text_of(d, '#award-SA1 .ok'))

    # Then each decision went to its route with a body and its own Idempotency-Key
    decide = fake_api.calls('POST', '/v1/team/disputes/D1/decide')
    approve = fake_api.calls('POST', '/v1/team/approvals/SA1/approve')
    assert decide[0].body == {'decision': 'accept', 'reason': 'Survey belongs to this ticket'}
    assert decide[0].headers['idempotency-key'] and approve[0].headers['idempotency-key']
    assert decide[0].headers['idempotency-key'] != approve[0].headers['idempotency-key']
    assert len(fake_api.decisions) == 2
    # And the manager's view fits a 360 px phone too
    desktop.set_window_size(360, 780)
    assert desktop.execute_script('return document.documentElement.scrollWidth <= document.documentElement.clientWidth')


def test_kiosk_pin_login_shows_own_figures_with_the_rotating_session_and_logs_out_when_idle(phone: Any, fake_api: FakeApi) -> None:
    # Given the kiosk screen signed in with its device account (kiosk idle timeout 3 s in the fake's config.json)
    sign_in(phone, fake_api, 'kiosk-in-blr-01', query='?kiosk=1')
    wait_for(phone, lambda d: by_id(d, 'keypad').is_displayed(), 'the keypad never showed')

    # When a technician types the employee code and the PIN on the keypad
    by_id(phone, 'kiosk-code').send_keys('E4')
    css(phone, '#keypad button[data-key=next]')[0].click()
    for digit in '2468':
        css(phone, f'#keypad button[data-key="{digit}"]')[0].click()
    css(phone, '#kiosk-ok')[0].click()

    # Then the technician's own figures are shown (no feed, no thanks form on a kiosk)
    wait_for(phone, lambda d: 'Dev Technician' in by_id(d, 'who').text)
    wait_for(phone, lambda d: css(d, '#statement-lines li.line'))
    assert not css(phone, '#feed') and not css(phone, '#thanks-form')
    login = fake_api.calls('POST', '/v1/kiosk/sessions')
    assert login[0].body == {'employee_code': 'E4', 'pin': '2468'}
    # And every call carried a kiosk session token, replaced by the one each answer carried
    kiosk_calls = [r for r in fake_api.requests if r.path != '/v1/kiosk/sessions']
    assert kiosk_calls and all(r.headers.get('x-kiosk-session', '').startswith('ks.') for r in kiosk_calls)
    assert kiosk_calls[0].headers['x-kiosk-session'] != kiosk_calls[-1].headers['x-kiosk-session'], 'the token was never replaced'

    # When nobody touches the screen, Then a countdown shows, and the page logs out back to the keypad
    wait_for(phone, lambda d: 'Logging out in' in by_id(d, 'countdown').text, 'no countdown')
    wait_for(phone, lambda d: by_id(d, 'keypad').is_displayed(), 'not logged out after the idle timeout', timeout=8)
    assert 'Logged out after a minute without use.' in by_id(phone, 'keypad-msg').text
    assert not by_id(phone, 'app').is_displayed() and by_id(phone, 'app').text == ''
    # And the session was ended at the API, with a token an answer carried (answers of parallel calls may arrive out of
    # order: the last to arrive wins; each is valid until the session ends)
    wait_for(phone, lambda d: fake_api.kiosk_deleted)
    assert len(fake_api.kiosk_deleted) == 1 and fake_api.kiosk_deleted[0] in fake_api.kiosk_issued[1:] and not fake_api.kiosk_tokens


def test_kiosk_wrong_pin_stays_on_the_keypad_with_the_apis_message(phone: Any, fake_api: FakeApi) -> None:
    # Given the kiosk screen, when a wrong PIN is entered
    sign_in(phone, fake_api, 'kiosk-in-blr-01', query='?kiosk=1')
    wait_for(phone, lambda d: by_id(d, 'keypad').is_displayed())
    by_id(phone, 'kiosk-code').send_keys('E4')
    by_id(phone, 'kiosk-pin').send_keys('1111')
    css(phone, '#kiosk-ok')[0].click()

    # Then the keypad says so and stays (the device stays signed in)
    wait_for(phone, lambda d: 'wrong employee code or PIN' in by_id(d, 'keypad-msg').text)
    assert by_id(phone, 'keypad').is_displayed() and by_id(phone, 'kiosk-pin').get_attribute('value') == ''
    assert phone.execute_script('return sessionStorage.getItem("pitcrew.id")')


def test_language_switch_to_hindi_and_indonesian_translates_the_page_and_sets_lang(phone: Any, fake_api: FakeApi) -> None:
    # Given a signed-in advisor reading the page in English
    signed_in_advisor(phone, fake_api)
    assert by_id(phone, 'balance-h').text == 'My points'
    assert phone.execute_script('return document.documentElement.lang') == 'en'
    select = by_id(phone, 'lang')

    # When Hindi is chosen, Then the page is in Hindi, numbers and dates in its locale, and <html lang> says hi
    select.find_element('css selector', 'option[value=hi]').click()
    wait_for(phone, lambda d: by_id(d, 'balance-h').text == 'मेरे अंक')
    wait_for(phone, lambda d: css(d, '#statement-lines li.line'))
    assert phone.execute_script('return document.documentElement.lang') == 'hi'
    assert 'विवरण' in by_id(phone, 'statement-h').text
    assert 'नव॰' in text_of(phone, '#statement-lines') or 'नवं' in text_of(phone, '#statement-lines')

    # When Bahasa Indonesia is chosen, Then the same strings are in Indonesian
    by_id(phone, 'lang').find_element('css selector', 'option[value=id]').click()
    wait_for(phone, lambda d: by_id(d, 'balance-h').text == 'Poin saya')
    assert phone.execute_script('return document.documentElement.lang') == 'id'
    wait_for(phone, lambda d: 'Tukar' in text_of(d, '#catalogue'))
    assert by_id(phone, 'logout').text == 'Keluar'


def test_the_persons_language_from_the_api_is_used_without_a_choice(phone: Any, fake_api: FakeApi) -> None:
    # Given an advisor whose profile says Spanish, when they sign in (the browser says English)
    fake_api.me_language = 'es'
    sign_in(phone, fake_api, 'advisor')

    # Then the page is in Spanish
    wait_for(phone, lambda d: by_id(d, 'balance-h').text == 'Mis puntos')
    assert phone.execute_script('return document.documentElement.lang') == 'es'
    # And numbers are written the Spanish way (Intl in the es locale)
    spanish = phone.execute_script("return new Intl.NumberFormat('es').format(1250) + ' ' + new Intl.NumberFormat('es').format(12345)")
    assert spanish == '1250 12.345'
    wait_for(phone, lambda d: by_id(d, 'available').text == '1250')


def test_a_401_goes_back_to_the_login_screen(phone: Any, fake_api: FakeApi) -> None:
    # Given a signed-in advisor whose tokens are then refused (expired; the refresh token too)
    signed_in_advisor(phone, fake_api)
    fake_api.revoke_all()

    # When the page calls the API again (another month of the statement)
    month = by_id(phone, 'month')
    phone.execute_script("arguments[0].value = '2026-10'; arguments[0].dispatchEvent(new Event('change'))", month)

    # Then it is back at the login screen, saying the session ended, with the tokens forgotten
    wait_for(phone, lambda d: by_id(d, 'login').is_displayed(), 'not back at the login screen')
    assert 'Your session has ended' in by_id(phone, 'login-msg').text
    assert phone.execute_script('return sessionStorage.getItem("pitcrew.id")') is None
    assert not by_id(phone, 'app').is_displayed()


def test_an_expiring_token_is_renewed_with_the_refresh_token(phone: Any, fake_api: FakeApi) -> None:
    # Given a signed-in advisor whose ID token (only) stops being accepted
    signed_in_advisor(phone, fake_api)
    old = phone.execute_script('return sessionStorage.getItem("pitcrew.id")')
    del fake_api.tokens[old]

    # When the page calls the API again
    phone.execute_script("const m = document.getElementById('month'); m.value = '2026-10'; m.dispatchEvent(new Event('change'))")

    # Then it renews the ID token with the refresh token and carries on (no login screen)
    wait_for(phone, lambda d: d.execute_script('return sessionStorage.getItem("pitcrew.id")') != old)
    wait_for(phone, lambda d: fake_api.calls('GET', '/v1/me/statement')[-1].query['month'] == '2026-10')
    time.sleep(0.3)
    assert by_id(phone, 'app').is_displayed() and not by_id(phone, 'login').is_displayed()
