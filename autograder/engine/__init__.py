"""The grading engine: loader -> sandbox (child) <-> channel <- graders -> results -> reports."""
