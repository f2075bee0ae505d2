using Vectorizer.Cli;

return await VectorizerCli.RunAsync(args);
