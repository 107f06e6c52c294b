"""The agents' console `/pro`: accounts, desk search, scheme sheets, situation form, orientation sheet.

`routes.install_console(app)` mounts it on the HTTP channel's app (`bot.channels.http.create_app`).
"""
