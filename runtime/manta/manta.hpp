#pragma once

/// The one header a Manta user includes.

#include "manta/actor.hpp"
#include "manta/actor_pool.hpp"
#include "manta/async.hpp"
#include "manta/cluster.hpp"
#include "manta/cancel.hpp"
#include "manta/errors.hpp"
#include "manta/get.hpp"
#include "manta/init.hpp"
#include "manta/memory_summary.hpp"
#include "manta/object_id.hpp"
#include "manta/object_ref.hpp"
#include "manta/put.hpp"
#include "manta/queue.hpp"
#include "manta/resources.hpp"
#include "manta/state.hpp"
#include "manta/task.hpp"
#include "manta/task_options.hpp"
#include "manta/timeline.hpp"
#include "manta/wait.hpp"
