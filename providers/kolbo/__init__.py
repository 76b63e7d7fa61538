"""Kolbo: images, video, music, speech, sound effects, Creative Director storyboards, chat, Visual DNA, moodboards.

`adapter` holds the `Kolbo` provider (its job hooks), composed of `generation` (the paid operations) and `library`
(the free ones) over `api` (reads and error translation); `inputs` and `wire` are the argument and answer models,
`pricing` the cost texts and estimates, `assets` the output files; `simulator` imitates the API.
"""
