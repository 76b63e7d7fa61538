"""Kolbo: images, video, music, speech, sound effects, Creative Director storyboards, chat, Visual DNA, moodboards."""
