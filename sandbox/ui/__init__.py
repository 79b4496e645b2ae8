"""The user interface: Dear ImGui (through imgui-bundle), implot plots, LaTeX formulas."""
