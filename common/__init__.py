"""What several packages need and none of them owns: user errors, fonts, private files, the
issuer's keys and the printed images (posters, declaration QR)."""
