"""The five seed vendors' calendars and plans, shipped with slaclock as data.

`slaclock policies load --builtin` loads the YAML files beside this module, so
an installed slaclock (``pip install .``) carries them without a checkout.
"""
