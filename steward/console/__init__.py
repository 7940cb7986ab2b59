"""The web console at `/console`: a static shell of HTML, CSS and ES modules that signs every API
call in the browser with the access key its user enters (see docs/console.md)."""
