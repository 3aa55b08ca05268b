"""Exercise handles for notebooks: ``check()``, ``hint()`` and ``solution()`` inline.

    from course import exercise
    exercise("01.1").check()

Nothing here raises into the notebook: a failed or broken check is shown as
a message, so a notebook always runs top to bottom.
"""

from __future__ import annotations

from typing import Any

from course import paths


def _display(html: Any, text: str) -> None:
    """Show ``html`` (markup, or an object a notebook renders, like a pandas Styler) in a
    notebook; ``text`` anywhere else."""
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:
        print(text)
        return
    if get_ipython() is None:
        print(text)
    else:
        display(HTML(html) if isinstance(html, str) else html)


class ExerciseHandle:
    """``check()``, ``hint()`` and ``solution()`` for one exercise, safe in a notebook."""

    def __init__(self, exercise_id: str) -> None:
        self.id = exercise_id

    def _exercise(self) -> Any:
        from course import catalog

        return catalog.load().exercise(self.id)

    def check(self, reference: bool = False) -> Any:
        """Grade this exercise against your project (or the reference) and show the result."""
        try:
            from course import catalog
            from course.grading import grader, progress, report
            from course.project import states

            exercises = catalog.load()
            exercise = exercises.exercise(self.id)
            target = (
                states.reference_state(exercises, exercise.chapter_number)
                if reference
                else paths.STARTER
            )
            verdicts = grader.grade([exercise], exercises, target=target)
            progress.record_verdicts(verdicts, "reference" if reference else "starter")
            _display(report.html_table(verdicts), report.text_table(verdicts))
            return verdicts[0].status
        except Exception as error:  # noqa: BLE001 - a notebook must keep running
            self._problem(error)
            return "error"

    def hint(self) -> None:
        """Show the next hint (each call goes one step further)."""
        try:
            from course.grading import progress

            exercise = self._exercise()
            index = progress.next_hint_index(exercise.id, len(exercise.hints))
            text = f"Hint {index + 1}/{len(exercise.hints)} for {exercise.id}: {exercise.hints[index]}"
            _display(f"<p><b>Hint {index + 1}/{len(exercise.hints)}</b> "
                     f"{_escape(exercise.hints[index])}</p>", text)
        except Exception as error:  # noqa: BLE001
            self._problem(error)

    def solution(self, confirm: bool = False) -> None:
        """Show the reference diff; asks for ``confirm=True`` before the exercise has passed."""
        try:
            from course import catalog
            from course.grading import progress
            from course.project import solutions

            exercise = self._exercise()
            if exercise.id not in progress.load().passed and not confirm:
                _display(
                    f"<p>{exercise.id} has not passed a check yet. To see the solution anyway, "
                    f"run <code>exercise(\"{exercise.id}\").solution(confirm=True)</code>.</p>",
                    f"{exercise.id} has not passed yet: call .solution(confirm=True) to see it.",
                )
                return
            text = solutions.diff(catalog.load(), exercise)
            _display(f"<pre>{_escape(text)}</pre>", text)
        except Exception as error:  # noqa: BLE001
            self._problem(error)

    def _problem(self, error: Exception) -> None:
        message = f"Could not run this for {self.id}: {type(error).__name__}: {error}"
        _display(f"<p style='color:#cf222e'>{_escape(message)}</p>", message)

    def __repr__(self) -> str:
        return f"exercise({self.id!r})"


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def exercise(exercise_id: str) -> ExerciseHandle:
    return ExerciseHandle(exercise_id)
