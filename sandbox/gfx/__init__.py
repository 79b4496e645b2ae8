"""Graphics: OpenGL contexts, shader programs, cameras and simple meshes (moderngl)."""
