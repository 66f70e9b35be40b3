"""MLflow's `spark_udf` on local Spark, as a team scoring a Parquet file with Spark would run it:
`python spark_score.py MODEL_DIR INPUT.parquet OUTPUT_DIR` (in the bench's `spark` venv)."""

import sys

import mlflow.pyfunc
from pyspark.sql import SparkSession

model, source, target = sys.argv[1:4]
spark = (
    SparkSession.builder.master("local[*]")
    .config("spark.driver.memory", "4g")
    .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    .getOrCreate()
)
frame = spark.read.parquet(source)
predict = mlflow.pyfunc.spark_udf(spark, model, result_type="string", env_manager="local")
frame.withColumn("prediction", predict(*[frame[c] for c in frame.columns])).write.mode("overwrite").parquet(target)
spark.stop()
