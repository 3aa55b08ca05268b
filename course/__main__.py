"""Entry point for ``python3 -m course``."""

import sys

if sys.version_info < (3, 11):
    sys.stderr.write(
        "course: Python 3.11 or newer is needed (this is %d.%d). "
        "Install a newer Python and run `python3 -m course lab` again.\n"
        % sys.version_info[:2]
    )
    sys.exit(2)

from course.cli.main import main  # noqa: E402

sys.exit(main())
