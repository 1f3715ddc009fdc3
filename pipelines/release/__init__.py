"""From a candidate folder to a published version: gate, validate, verify, publish, card, preview.

``gate`` measures a candidate with the judge and the metrics registry and runs both Great
Expectations suites (``validate``); ``manifest`` builds the manifest and provenance; ``publish``
moves a candidate into place atomically; ``verify`` re-checks a published version; ``card`` and
``preview`` write what a person reads and looks at.
"""
