"""ConceptViz: diagrams from a prompt (or up to four), and edits of existing images."""
