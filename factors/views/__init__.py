"""Factor pages, one module per page.

``challenge``  the second-factor challenge of a pending sign-in
``enroll``      setting up a new sign-in method when the sign-in requires one
``passkey``    passkey sign-in without a username
``security``   the Security page: add, rename, remove factors; recovery codes
``codes``      what every page that takes an emailed, texted or typed code says and does
``adding``     what adding a factor does, at sign-in and on the Security page
``common``     JSON bodies and WebAuthn ceremony state of a pending sign-in

The step-up pages (``factors.stepup``) use ``codes`` and ``common`` too. Views parse input, call
one service from ``factors.services`` / ``factors.webauthn`` or the login flow, and respond.
Every state change is a POST with a CSRF token.
"""
