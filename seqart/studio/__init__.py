"""seqart studio: the composer's loop in a local web page (``seqart studio``).

Pick a model, set the options, generate takes (or upload an idea and have it
continued), see each as a piano roll, play it, download it, rate it (into the model's
feedback store), tune the model on those ratings in the background, and go back to
any earlier take's settings. With an image model: a grid of pictures to rate, latent
walks (a loop, or in time with a take), and a tune on the pictures liked. The page is served on this machine only, behind a
per-launch token (:mod:`.security`).

Modules, one job each: :mod:`.app` (the application), :mod:`.api` (the JSON
endpoints), :mod:`.security` (host, origin and token checks), :mod:`.session` (one
launch's state: generate, rate, tune), :mod:`.models` (which models are offered),
:mod:`.options` (each model's form fields), :mod:`.takes` (the takes and their
files), :mod:`.primers` (uploaded ideas to continue), :mod:`.uploads` (an upload's
size and kind), :mod:`.reading` (reading an upload in a child process, under a time
limit), :mod:`.roll` (what a piano roll draws of a score), :mod:`.jobs` (background
work in a child process, its progress streamed), :mod:`.tuning` (tune on my ratings,
as a job), :mod:`.latent` (blend, vary and shift takes), :mod:`.history` (earlier
takes), :mod:`.pictures` (an image model's grid and walks), :mod:`.server` (uvicorn, the link, the browser). ``static/`` holds the page.

Importing this package is cheap; Starlette and uvicorn load with :mod:`.app` and
:mod:`.server`.
"""
