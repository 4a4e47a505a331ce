"""``scenelab dashboard``: a local web page to change a strategy, run it and compare (Dash).

Needs the ``dashboard`` extra (``pip install 'scenelab[dashboard]'``). Modules: ``edits`` (controls
as scenario edits, validated as ``scenelab validate`` does), ``controls`` and ``layout`` (the
page), ``runner`` (background runs), ``summary`` and ``figures`` (what the page shows), ``app``
(callbacks and the server).
"""
