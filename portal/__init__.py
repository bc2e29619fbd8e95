"""The customer portal: ask for a technical-contact change, confirm it, follow its status.

Server-rendered HTML that works without JavaScript, and the same as JSON under /api/v1/.
`portal.app.create_app(store)` builds the ASGI application.
"""
